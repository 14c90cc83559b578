"""The physical limit: a bare Django view that does exactly one INSERT per POST.

Same middleware as the stock peer (sessions, CSRF, ...), served by the same gunicorn settings;
no form, no template, no rate limit, no look-up. What Portero's reset request costs above this
is its own work. bench/headline.py creates the table.
"""

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.utils import timezone


def limit(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # the CSRF cookie and token, as a form page would give them
        return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{get_token(request)}">')
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_limit_row (username, created_at) VALUES (%s, %s)",
            [request.POST.get("username", "")[:150], timezone.now()],
        )
    return HttpResponseRedirect("/limit/")
