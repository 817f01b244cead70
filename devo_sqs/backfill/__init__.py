"""`devo-sqs backfill`: objects already in a bucket, announced to the input's queue as S3 events, so the running
collectors take them with the same services, state and guarantees as live data."""
