from django.db import migrations, models


def first_note(apps, schema_editor) -> None:
    apps.get_model("pages", "Note").objects.create(text="stored in the database by migration 0001")


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.CharField(max_length=200)),
            ],
        ),
        migrations.RunPython(first_note, migrations.RunPython.noop),
    ]
