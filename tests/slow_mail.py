"""Django's file email backend, slowed down per message (SLOW_MAIL_SECONDS), so a test
can kill a sender while it is in the middle of a batch."""

import os
import time

from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    def send_messages(self, email_messages):
        time.sleep(float(os.environ.get("SLOW_MAIL_SECONDS", "0.2")))
        return super().send_messages(email_messages)
