"""How reports and messages count things. No imports: the command line uses it at start-up."""


def plural(count: int, noun: str) -> str:
    """ "1 finding", "2 findings": the one counting phrase of every report and message."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
