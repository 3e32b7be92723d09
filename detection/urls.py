"""Detection page URLs (`detection:<model>_<action>`)."""

app_name = "detection"

urlpatterns: list = []
