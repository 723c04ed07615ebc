"""Mutual-support meetings (AA, NA, SMART, ...): the directory, its feeds, search,
favourites, recommendations and calendars."""
