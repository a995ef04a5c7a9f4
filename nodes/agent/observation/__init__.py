"""Looking at a page: the indexed elements, its text and summary, extracts and screenshots."""
