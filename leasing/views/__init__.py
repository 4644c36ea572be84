"""Pages of the leasing app: the public calculator, the customer's and dealer's views, and the back office."""
