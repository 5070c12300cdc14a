/*
 * Who an HTTP request comes from (SPEC section 8): an API token, a user
 * named by a trusted proxy's header, a user of the users-file by Basic
 * auth, or, when no identity is asked for (no users-file, no user-header:
 * the page on loopback, as it always was), the local client, who may do
 * everything.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "microlightd.h"

/* An address as 16 bytes (IPv4 as IPv4-mapped IPv6); -1 if it is none. */
static int
http_who_addr(const char *s, struct in6_addr *a)
{
	struct in_addr	 a4;

	if (inet_pton(AF_INET6, s, a) == 1)
		return (0);
	if (inet_pton(AF_INET, s, &a4) != 1)
		return (-1);
	memset(a, 0, sizeof *a);
	a->s6_addr[10] = a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], &a4, 4);
	return (0);
}

/* Whether the request comes from a trusted-proxy address. */
static int
http_who_from_proxy(struct http_req *hr)
{
	struct in6_addr	 peer, proxy;
	u_int		 i;

	if (http_who_addr(hr->peer, &peer) != 0)
		return (0);
	for (i = 0; i < ml_conf->ntrusted_proxies; i++) {
		if (http_who_addr(ml_conf->trusted_proxies[i], &proxy) == 0 &&
		    memcmp(&peer, &proxy, sizeof peer) == 0)
			return (1);
	}
	return (0);
}

/*
 * The user a trusted proxy names in user-header, or NULL: not from a
 * proxy, no header, or a header that is there twice or lists several
 * (a client's own, which a proxy appended to instead of replacing), or
 * that is no user name.
 */
static const char *
http_who_header(struct http_req *hr)
{
	struct evkeyvalq	*headers;
	struct evkeyval		*h;
	const char		*value = NULL;

	if (ml_conf->user_header == NULL || !http_who_from_proxy(hr))
		return (NULL);
	headers = evhttp_request_get_input_headers(hr->req);
	TAILQ_FOREACH(h, headers, next) {
		if (strcasecmp(h->key, ml_conf->user_header) != 0)
			continue;
		if (value != NULL) {
			log_warnx("http: %s: %s given twice: ignored",
			    hr->peer, ml_conf->user_header);
			return (NULL);
		}
		value = h->value;
	}
	if (value == NULL || *value == '%' || !allow_name_valid(value))
		return (NULL);
	return (value);
}

/*
 * The who of an API token: its creator as the creator is now (a token
 * may do no more), recorded as "token:NAME", held to the token's tasks if
 * it has any. NULL if the token is not valid, or its creator is gone.
 */
static struct who *
http_who_token(const char *secret)
{
	struct token	*tk;
	struct who	*w;
	char		*by;
	u_int		 i;

	while (*secret == ' ')
		secret++;
	if ((tk = token_find(secret)) == NULL)
		return (NULL);
	xasprintf(&by, "token:%s", tk->name);
	if ((w = who_unix(0, tk->creator, by)) != NULL) {
		for (i = 0; i < tk->ntasks; i++)
			who_limit(w, tk->tasks[i]);
	}
	free(by);
	token_free(tk);
	return (w);
}

/* No one we know: 401, saying how to sign in. */
static int
http_who_refuse(struct http_req *hr, const char *why)
{
	if (auth_required())
		http_set_header(hr, "WWW-Authenticate",
		    "Basic realm=\"microlight\", charset=\"UTF-8\"");
	http_error(hr, 401, E_BAD_REQUEST, "%s", why);
	return (-1);
}

/*
 * Set hr->who for a route that asks who is there: 0, or -1 after a 401
 * reply (an identity is needed and none was given, or a bad one).
 */
int
http_who(struct http_req *hr)
{
	const char	*user, *auth;
	char		*basic;

	auth = http_header(hr, "Authorization");
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    (hr->route->flags & R_API)) {
		if ((hr->who = http_who_token(auth + 7)) == NULL)
			return (http_who_refuse(hr, "this token is not valid "
			    "(unknown, revoked or expired)"));
		return (0);
	}
	if ((user = http_who_header(hr)) != NULL) {
		hr->who = who_web(user);
		return (0);
	}
	if (auth_required()) {
		if ((basic = auth_basic(auth)) == NULL)
			return (http_who_refuse(hr, "a user name and password "
			    "are needed"));
		hr->who = who_web(basic);
		free(basic);
		return (0);
	}
	if (ml_conf->user_header != NULL)
		return (http_who_refuse(hr, "sign in through the proxy in "
		    "front of microlight"));
	hr->who = who_new(hr->peer, NULL);
	hr->who->admin = 1;	/* the page on loopback, as it always was */
	return (0);
}
