// The run page: output, state and end arrive as Server-Sent Events and go
// into the page; the output box stays at its bottom if it was there.
(function () {
	var out = document.getElementById('out');
	if (!out || !out.dataset.events || !window.EventSource)
		return;
	var box = document.getElementById('outbox'),
	    head = document.getElementById('head'),
	    live = document.getElementById('live'),
	    es = new EventSource(out.dataset.events);

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
	});
	es.addEventListener('status', setHead);
	es.addEventListener('end', function (e) {
		es.close();
		live.hidden = true;
		setHead(e);
		var n = document.getElementById('noout');
		if (n)
			n.textContent = 'This run wrote no output.';
	});
	box.scrollTop = box.scrollHeight;
})();
