// The task list: what each task's runs are doing (running, queued, the
// last result) and what comes with them (failing, overdue, the next run)
// as it changes, from the list's Server-Sent Events. The
// server draws each task's part and says where the stream is: the page
// takes both as they come.
(function () {
	var list = document.getElementById('tasks'), es;
	if (!list || !list.dataset.events || !window.EventSource)
		return;
	es = new EventSource(list.dataset.events);
	es.addEventListener('task', function (e) {
		var d = JSON.parse(e.data),
		    li = document.getElementById('task-' + d.task),
		    last = li && li.querySelector('.last'), main;
		if (!last)
			return;		// a task this page does not show
		last.innerHTML = d.html;
		if (window.mlLocalTimes)
			window.mlLocalTimes(last);
		// Its badges, health and next run change with its runs.
		main = li.querySelector('.t-main');
		if (main && d.main) {
			main.innerHTML = d.main;
			if (window.mlLocalTimes)
				window.mlLocalTimes(main);
		}
	});
	// The daemon cannot tell what changed since the page was drawn (it
	// was restarted): draw the page anew.
	es.addEventListener('reload', function () {
		es.close();
		window.location.reload();
	});
})();
