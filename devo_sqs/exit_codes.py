"""The exit codes of `devo-sqs` (the README lists them)."""

OK = 0  # done; for `run`: stopped on request, everything in hand delivered, spooled or handed back
FAILURE = 1  # for `run`: the children crashed repeatedly, or the supervisor failed; `health`: unhealthy
CONFIG = 2  # the configuration is invalid (nothing was started, AWS was not called)
FORCED = 3  # `run` stopped at once on a second signal: what was held was spooled or handed back to the queue
