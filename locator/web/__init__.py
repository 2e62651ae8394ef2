"""The Flask face: state, pages, API, assets and error handling."""
