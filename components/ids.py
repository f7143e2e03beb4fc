"""Every component id used by callbacks, defined once (kebab-case `<page>-<thing>`)."""

SHELL_URL = "shell-url"
SHELL_NAV = "shell-nav"
SHELL_USER = "shell-user"
SHELL_CONNECTION = "shell-connection"
SHELL_JOB_STORE = "shell-job-store"
SHELL_TOAST = "shell-toast"
