import sys

from devo_sqs.cli import main

sys.exit(main())
