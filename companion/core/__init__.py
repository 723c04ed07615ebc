"""The core every domain stands on: extensions, database setup, clock, input checks, errors,
events and signals, audit, and the HTTP and Socket.IO plumbing. It imports no domain."""
