"""The Django admin site is not mounted: back-office work goes through the portal's own pages and services."""
