"""The clinical note of each session (DAP, BIRP or SOAP), its signature and addenda, and the
billing days a program claims from signed notes."""
