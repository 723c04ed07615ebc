"""Live rooms: room events, the waiting room, chat and the check-in round over Socket.IO,
attendance, and the signaling that brings people to the media worker."""
