"""Admin of ticket delivery; see shop/admin.py for what it adds to orders."""
