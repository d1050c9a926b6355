# Shown on the page; edit it under /data and the development server reloads.
MOTTO = "edit pages/motto.py and reload"
