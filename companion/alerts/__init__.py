"""Risk alerts: raised by other domains' records, delivered live to the treating staff,
acknowledged, and escalated when nobody does."""
