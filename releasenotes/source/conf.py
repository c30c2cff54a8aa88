# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Sphinx configuration of the hashring release notes."""

extensions = ['reno.sphinxext']

try:
    import openstackdocstheme  # noqa: F401
except ImportError:
    html_theme = 'alabaster'
else:
    extensions.append('openstackdocstheme')
    html_theme = 'openstackdocs'
    openstackdocs_repo_name = 'openstack/oslo.hashring'
    openstackdocs_bug_project = 'oslo.hashring'
    openstackdocs_bug_tag = ''

project = 'oslo.hashring release notes'
copyright = '2026, The hashring authors'
master_doc = 'index'
source_suffix = '.rst'
exclude_patterns = []
