"""Billing inputs beyond rating: credits and adjustments applied to a period's invoices."""
