"""The clinic: programs and phases, enrolments, groups and their schedules, sessions, and who
treats whom; the authorisation policy every route asks and the view guards built on it."""
