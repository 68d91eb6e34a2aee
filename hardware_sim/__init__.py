"""Virtual face-recognition gates and ID-card readers (issue 6; not built yet)."""
