"""Script steps of the suites that run more than one call (workers, schedules, floods, key faults): each
module the steps of one kind of script, so a suite declares what it runs and checks what it saw."""
