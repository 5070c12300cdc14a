// The run page: output, state and end arrive as Server-Sent Events and go
// into the page; the output box stays at its bottom if it was there. While
// the run goes, its duration counts on every second from how long it had
// gone when the server drew it (data-elapsed: the viewer's clock may be
// off, its ticks are not), and its output's size follows the byte counts
// the events carry (data-bytes).
(function () {
	var out = document.getElementById('out');
	if (!out || !out.dataset.events || !window.EventSource)
		return;
	var box = document.getElementById('outbox'),
	    head = document.getElementById('head'),
	    live = document.getElementById('live'),
	    es = new EventSource(out.dataset.events),
	    clock = window.performance && performance.now ?
		function () { return performance.now(); } : Date.now,
	    counted = null, since = 0, ticker;

	function pad(n, w) {
		n = String(n);
		while (n.length < w)
			n = '0' + n;
		return n;
	}
	// A duration as the server writes it (duration_format_ms).
	function duration(ms) {
		var s = Math.floor(ms / 1000);
		if (ms < 1000)
			return ms + 'ms';
		if (ms < 60000)
			return s + '.' + pad(ms % 1000, 3) + 's';
		if (s < 3600)
			return Math.floor(s / 60) + 'm' + pad(s % 60, 2) + 's';
		if (s < 86400)
			return Math.floor(s / 3600) + 'h' +
			    pad(Math.floor(s % 3600 / 60), 2) + 'm';
		return Math.floor(s / 86400) + 'd' +
		    pad(Math.floor(s % 86400 / 3600), 2) + 'h';
	}
	// A size as the server writes it (page_size).
	function size(n) {
		if (n < 1024)
			return n + (n === 1 ? ' byte' : ' bytes');
		if (n < 1024 * 1024)
			return (n / 1024).toFixed(1) + ' KiB';
		if (n < 1024 * 1024 * 1024)
			return (n / (1024 * 1024)).toFixed(1) + ' MiB';
		return (n / (1024 * 1024 * 1024)).toFixed(1) + ' GiB';
	}
	// The duration of a run that goes, counted on; a new top (from an
	// event) brings a new starting point.
	function tick() {
		var d = document.getElementById('duration'), ms;
		if (!d || d.dataset.elapsed === undefined)
			return;
		if (d !== counted) {
			counted = d;
			since = clock() - Number(d.dataset.elapsed);
		}
		ms = Math.max(0, Math.floor(clock() - since));
		d.textContent = 'running for ' + duration(ms);
	}
	// The output's size and dropped bytes, as an event gives them. Past
	// max-log-size (data-limit, while the run goes) no event comes for
	// what is dropped: say so once the size reaches it.
	function setSize(d) {
		var el = document.getElementById('output-size'), drop, text,
		    limit;
		if (!el || typeof d.output_size !== 'number')
			return;
		el.dataset.bytes = String(d.output_size);
		el.firstChild.nodeValue = size(d.output_size);
		limit = Number(el.dataset.limit);
		if (limit > 0 && d.output_size >= limit)
			text = '(max-log-size reached: the rest is dropped)';
		else if (d.output_dropped > 0)
			text = '(' + d.output_dropped + ' bytes dropped)';
		else
			return;
		drop = document.getElementById('dropped');
		if (!drop) {
			drop = document.createElement('span');
			drop.className = 'muted';
			drop.id = 'dropped';
			el.appendChild(document.createTextNode(' '));
			el.appendChild(drop);
		}
		drop.textContent = text;
	}
	function atEnd() {
		return box.scrollHeight - box.scrollTop - box.clientHeight < 48;
	}
	function setHead(e) {
		var d = JSON.parse(e.data);
		if (d.html) {
			head.innerHTML = d.html;
			if (window.mlLocalTimes)
				window.mlLocalTimes(head);
		}
		document.title = 'Run ' + out.dataset.run + ' \u00b7 ' +
		    d.status + ' \u00b7 microlight';
		return d;
	}
	es.onopen = function () { live.hidden = false; };
	es.onerror = function () { live.hidden = true; };
	es.addEventListener('output', function (e) {
		var d = JSON.parse(e.data),
		    n = document.getElementById('noout'),
		    end = atEnd();
		if (n)
			n.remove();
		out.insertAdjacentHTML('beforeend', d.html);
		if (end)
			box.scrollTop = box.scrollHeight;
		setSize(d);
	});
	es.addEventListener('status', setHead);
	es.addEventListener('end', function (e) {
		es.close();
		live.hidden = true;
		clearInterval(ticker);
		setHead(e);
		var n = document.getElementById('noout');
		if (n)
			n.textContent = 'This run wrote no output.';
	});
	ticker = setInterval(tick, 1000);
	box.scrollTop = box.scrollHeight;
})();
