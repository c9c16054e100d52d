from django.db import migrations


def create_default(apps, schema_editor):
    # The one row admins edit; its field defaults are the documented ones (365 days, 0.80, 0.95, 30).
    SegmentationSettings = apps.get_model("segmentation", "SegmentationSettings")
    if not SegmentationSettings.objects.exists():
        SegmentationSettings.objects.create()


class Migration(migrations.Migration):
    dependencies = [("segmentation", "0001_initial")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
