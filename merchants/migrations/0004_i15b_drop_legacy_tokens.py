"""DRF's plain tokens (rest_framework.authtoken) were stored in clear and never expired;
they cannot be hashed after the fact, so they are revoked: the table is dropped. Clients
create a knox token on /m/tokens/ (README "Security defaults")."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("merchants", "0003_i13merchant_phone_login")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop),
    ]
