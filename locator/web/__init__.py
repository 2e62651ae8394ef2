"""The cross-cutting Flask parts: state, errors, i18n, assets, params, rate limits, OpenAPI."""
