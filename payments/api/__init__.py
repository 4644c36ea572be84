"""DRF endpoints of payments; one class per operation, Input/Output serializers nested in each."""
