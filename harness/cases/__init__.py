"""Cases: declarations of what to send and what to compare, and the one runner that does it."""
