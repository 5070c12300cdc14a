/* The web page: server-rendered HTML (a first cut; see page.c's history). */

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "microlightd.h"

/* An error page; the message is escaped. */
void
page_error(struct http_req *hr, int status, const char *msg)
{
	struct evbuffer	*b = evbuffer_new();
	char		*e = html_escape(msg, strlen(msg));

	evbuffer_add_printf(b, "<!doctype html><meta charset=utf-8>"
	    "<title>microlight</title><p>%s</p>\n", e);
	free(e);
	http_reply(hr, status, "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

/* Not written yet. */
static void
page_todo(struct http_req *hr)
{
	page_error(hr, 501, "not written yet");
}

void page_index(struct http_req *hr) { page_todo(hr); }
void page_task(struct http_req *hr) { page_todo(hr); }
void page_task_run(struct http_req *hr) { page_todo(hr); }
void page_run(struct http_req *hr) { page_todo(hr); }
void page_run_events(struct http_req *hr) { page_todo(hr); }
void page_run_cancel(struct http_req *hr) { page_todo(hr); }
