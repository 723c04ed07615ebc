"""What staff see across domains: the counselor's dashboard and the program's reports. It
reads the other domains and nothing reads it."""
