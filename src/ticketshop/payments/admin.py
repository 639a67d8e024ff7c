"""Admin of Swish payments; see shop/admin.py for what it adds to orders."""
