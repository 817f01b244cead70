"""devo-sqs: moves log files from S3 (notified through SQS) into Devo."""

__version__ = "0.1.0"
