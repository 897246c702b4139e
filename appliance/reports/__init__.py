"""Training-record outputs computed from the session log: summaries, CSV, printable report, xAPI."""
