"""The tenants file in a running server: read and checked at start (`startup`), applied
through the admin API, watched and reloaded while serving (`reloader`, `watch`, `running`)."""
