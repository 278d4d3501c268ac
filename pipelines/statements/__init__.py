"""Customer statements: each invoice rendered to HTML and PDF from the billing marts."""
