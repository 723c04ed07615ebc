"""Standardised measures (PHQ-9, GAD-7, BAM): scheduling, answering, scoring."""
