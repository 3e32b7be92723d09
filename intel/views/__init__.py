"""Intel pages, one module per area: indicators, intake (form, paste, upload), allowlist, feeds.

Views are thin: check the role, parse input, call a service function, render. Indicators are
always fetched through `Indicator.objects.visible_to(user)`, so TLP:RED intel is a 404 for users
who are not cleared, exactly as if it did not exist.
"""
