"""TheHive report templates for the Cortex analyzers: ``short.html`` (the taxonomy labels) and ``long.html``.

TheHive shows an analyzer's report with the AngularJS templates in
``thehive-templates/<analyzer>_<version>/``: the short one beside the observable, the long one
when the report is opened. ``content`` is the report's ``full`` part (for the long template) or
its ``summary`` (for the short one); ``success`` and ``content.errorMessage`` tell a failed run.
"""

from __future__ import annotations

_SHORT = """<span class="label" ng-repeat="t in content.taxonomies"
      ng-class="{'info': 'label-info', 'safe': 'label-success',
                 'suspicious': 'label-warning', 'malicious': 'label-danger'}[t.level]">
    {{t.namespace}}:{{t.predicate}}="{{t.value}}"
</span>
"""

_LONG = """<div class="panel panel-info" ng-if="success">
    <div class="panel-heading">
        <strong>{name}</strong>: {{{{content.total}}}} matching {records} at {{{{content.vendor}}}}
        <span ng-if="content.count < content.total">({{{{content.count}}}} shown)</span>
    </div>
    <div class="panel-body" ng-if="!content.{records}.length">Nothing matches the observable.</div>
    <table class="table table-hover" ng-if="content.{records}.length">
        <thead><tr><th>Severity</th><th>Title</th><th>Status</th><th>First seen</th><th>Id</th></tr></thead>
        <tbody>
            <tr ng-repeat="r in content.{records}">
                <td>{{{{(r.threat || r).severity}}}}</td>
                <td>{{{{r.title || r.summary}}}}</td>
                <td>{{{{(r.threat || r).status}}}}</td>
                <td>{{{{(r.threat || r).first_seen || r.time}}}}</td>
                <td><code>{{{{r.uid}}}}</code></td>
            </tr>
        </tbody>
    </table>
    <div class="panel-footer" ng-if="content.errors.length">
        <div ng-repeat="e in content.errors">{{{{e.item}}}} {{{{e.message}}}}</div>
    </div>
</div>

<div class="panel panel-danger" ng-if="!success">
    <div class="panel-heading"><strong>{name}</strong>: error</div>
    <div class="panel-body">{{{{content.errorMessage}}}}</div>
</div>
"""


def templates(name: str, records: str) -> dict[str, str]:
    """``short.html`` and ``long.html`` of analyzer ``name``, whose report lists ``records`` (``threats``...)."""
    return {"short.html": _SHORT, "long.html": _LONG.format(name=name, records=records)}
