from django.apps import AppConfig


class ExampleProjectConfig(AppConfig):
    name = "example_project"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from example_project import checks  # noqa: F401 - registers the example's system checks
