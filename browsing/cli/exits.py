"""The ``browsing`` command's exit codes."""

EXIT_OK = 0
EXIT_FAILED = 1  # the task ran and failed
EXIT_USAGE = 2  # a usage error, or the gateway refused or could not be reached
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away
