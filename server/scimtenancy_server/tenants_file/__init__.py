"""The tenants file: tenants as code, validated (`load`), planned against the server's
tenants (`plan`) and applied through the admin API (`apply`)."""
