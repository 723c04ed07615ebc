"""What a client does for themself between sessions: check-ins, cravings and triggers,
coping skills, the safety plan."""
