"""Tools around the service, for its users and operators: the Python client
(``browsing.client``), the ``browsing`` command (``browsing.cli``) and the local cluster
it runs (``browsing.cluster``, supervised by ``browsing.supervisor``)."""
