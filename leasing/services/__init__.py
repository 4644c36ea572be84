"""Every write of the leasing app, one module per part of the lease life cycle."""
