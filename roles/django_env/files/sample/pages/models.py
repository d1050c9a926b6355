from django.db import models


class Note(models.Model):
    """A row the page reads back, proving the database of DATABASE_URL is reached."""

    text = models.CharField(max_length=200)
