"""gensynth.studies: storage URLs, study metadata, leaderboards, export, sharing, engines."""
