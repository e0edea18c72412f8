"""Report of the AWS CLI v2 suite: the CLI calls made, and the response members the CLI did not
print because its bundled (older) service model does not have them."""

import sys


def pytest_terminal_summary(terminalreporter):
    mod = sys.modules.get("test_awscli_v2")
    if mod is None or getattr(mod, "CLI_VERSION", None) is None:
        return
    version = ".".join(map(str, mod.CLI_VERSION))
    dropped = sorted(getattr(mod, "DROPPED", ()))
    terminalreporter.write_line(
        f"aws-cli {version}: members on the wire that it did not print (newer than its model): "
        f"{', '.join(dropped) if dropped else 'none'}")
