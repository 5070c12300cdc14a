// Every page: times in the viewer's own time zone. The server writes
// each <time datetime="..."> in its zone; here the text (or, for a time
// shown as "5 min ago", its tooltip) becomes the viewer's local time, and
// the server's reading moves to the tooltip. Without this script the
// server's times stay, zone named. mlLocalTimes(root) is for the parts
// that live updates replace.
window.mlLocalTimes = function (root) {
	var els = (root || document).querySelectorAll('time[datetime]'),
	    fmt, i, el, d, local, server;
	if (!window.Intl || !Intl.DateTimeFormat)
		return;
	fmt = new Intl.DateTimeFormat(undefined, { year: 'numeric',
	    month: '2-digit', day: '2-digit', hour: '2-digit',
	    minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
	for (i = 0; i < els.length; i++) {
		el = els[i];
		if (el.dataset.local)
			continue;
		d = new Date(el.getAttribute('datetime'));
		if (isNaN(d.getTime()))
			continue;
		local = fmt.format(d);
		el.dataset.local = '1';
		if (el.title) {
			// "5 min ago": the exact time is the tooltip.
			server = el.title;
			el.title = local + ' (server: ' + server + ')';
		} else {
			server = el.textContent;
			el.textContent = local;
			el.title = 'server: ' + server;
		}
	}
};
window.mlLocalTimes();
